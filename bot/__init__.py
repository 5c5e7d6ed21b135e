"""Framework Advisor: helps a team choose between Python web frameworks."""
