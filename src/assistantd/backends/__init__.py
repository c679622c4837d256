"""Model backends behind one Protocol: any OpenAI-compatible upstream, or the scripted one."""
