"""The operator table: how each task type is scheduled and run, one module per operator."""

from __future__ import annotations

from podium.engine.operators.base import Operator
from podium.engine.operators.do_while import DoWhile
from podium.engine.operators.dynamic import Dynamic
from podium.engine.operators.dynamic_fork import DynamicFork
from podium.engine.operators.event import Event
from podium.engine.operators.exclusive_join import ExclusiveJoin
from podium.engine.operators.fork import Fork
from podium.engine.operators.inline import Inline, Lambda
from podium.engine.operators.join import Join
from podium.engine.operators.jq_transform import JqTransform
from podium.engine.operators.kafka_publish import KafkaPublish
from podium.engine.operators.noop import Noop
from podium.engine.operators.remote import Remote
from podium.engine.operators.set_variable import SetVariable
from podium.engine.operators.simple import SIMPLE, UserDefined
from podium.engine.operators.sub_workflow import SubWorkflow
from podium.engine.operators.switch import Decision, Switch
from podium.engine.operators.system import Queued
from podium.engine.operators.terminate import Terminate
from podium.engine.operators.wait import Human, Wait

OPERATORS: dict[str, Operator] = {
    "SIMPLE": SIMPLE,
    "NOOP": Noop(),
    "SET_VARIABLE": SetVariable(),
    "TERMINATE": Terminate(),
    "SWITCH": Switch(),
    "DECISION": Decision(),
    "INLINE": Inline(),
    "LAMBDA": Lambda(),
    "JSON_JQ_TRANSFORM": JqTransform(),
    "FORK_JOIN": Fork(),
    "JOIN": Join(),
    "FORK_JOIN_DYNAMIC": DynamicFork(),
    "DO_WHILE": DoWhile(),
    "EXCLUSIVE_JOIN": ExclusiveJoin(),
    "DYNAMIC": Dynamic(),
    "WAIT": Wait(),
    "HUMAN": Human(),
    "HTTP": Queued(),
    "SUB_WORKFLOW": SubWorkflow(),
    "START_WORKFLOW": Queued(),
    "EVENT": Event(),
    "KAFKA_PUBLISH": KafkaPublish(),
    "REMOTE": Remote(),
}


def operator_for(task_type: str) -> Operator:
    """Unknown type names are user-defined worker tasks, as in Conductor."""
    return OPERATORS.get(task_type) or UserDefined(task_type)


__all__ = ["OPERATORS", "Operator", "operator_for"]
