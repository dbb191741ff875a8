// Run once in each sandbox worker's V8 context, before any script. Afterwards every evaluation
// starts from the same globals: the built-in objects (and what is reachable from them) are frozen,
// the original global bindings cannot be reassigned, and what a script adds to the global object
// is removed by __podium_reset() after it. Timers, finalizers, WebAssembly and Atomics.waitAsync
// are removed: nothing may run after an evaluation has answered.
(function () {
  "use strict";
  const global = globalThis;
  for (const name of ["FinalizationRegistry", "WebAssembly"]) Reflect.deleteProperty(global, name);
  Reflect.deleteProperty(Atomics, "waitAsync");
  // mini-racer's setTimeout shim is declared with `var` (not deletable): emptied instead.
  for (const name of ["setTimeout", "clearTimeout", "__timer_manager"]) {
    if (name in global) global[name] = undefined;
  }
  // RegExp's legacy statics hold the last match of any script (RegExp.input, $1...).
  for (const name of Reflect.ownKeys(RegExp)) {
    if (typeof name === "string" && (name.startsWith("$") || /^(input|last|leftContext|rightContext)/.test(name))) {
      Reflect.deleteProperty(RegExp, name);
    }
  }
  const seen = new Set([global]);
  function freeze(value) {
    if (value === null || (typeof value !== "object" && typeof value !== "function") || seen.has(value)) return;
    seen.add(value);
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) {
      const d = Reflect.getOwnPropertyDescriptor(value, key);
      if (d === undefined) continue;
      if ("value" in d) freeze(d.value); else { freeze(d.get); freeze(d.set); }
    }
    freeze(Reflect.getPrototypeOf(value));
  }
  // Intrinsics that no global names: reached through an instance of each.
  const hidden = [
    function* () {}, async function () {}, async function* () {}, (function* () {})(), (async function* () {})(),
    [][Symbol.iterator](), new Map()[Symbol.iterator](), new Set()[Symbol.iterator](), ""[Symbol.iterator](),
    /a/[Symbol.matchAll](""), Object.getPrototypeOf(Int8Array),
    Reflect.getOwnPropertyDescriptor(Function.prototype, "caller"),
  ];
  if (typeof Intl.Segmenter === "function") hidden.push(new Intl.Segmenter().segment("")[Symbol.iterator]());
  for (const value of hidden) {
    if (value && typeof value === "object" && !Array.isArray(value) && "get" in value) { freeze(value.get); freeze(value.set); }
    else freeze(value);
  }
  const pristine = new Set(Reflect.ownKeys(global));
  for (const key of pristine) {
    const d = Reflect.getOwnPropertyDescriptor(global, key);
    if ("value" in d) {
      freeze(d.value);
      Object.defineProperty(global, key, { writable: false, configurable: false });
    } else {
      freeze(d.get); freeze(d.set);
      Object.defineProperty(global, key, { configurable: false });
    }
  }
  freeze(Reflect.getPrototypeOf(global));
  // Removes what the last evaluation added to the global object; false when that is not possible
  // (a property made non-configurable, a global object made non-extensible): the worker is then
  // discarded instead of reused.
  function reset() {
    if (typeof __TimerManager !== "undefined") __TimerManager = undefined;
    let clean = Object.isExtensible(global);
    for (const key of Reflect.ownKeys(global)) {
      if (!pristine.has(key) && !Reflect.deleteProperty(global, key)) clean = false;
    }
    return clean;
  }
  Object.freeze(reset);
  pristine.add("__podium_reset");
  Object.defineProperty(global, "__podium_reset", { value: reset, writable: false, configurable: false, enumerable: false });
})();
