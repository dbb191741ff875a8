"""The TANGO project manager's endpoints: members' reports, projects, and the member registry."""
