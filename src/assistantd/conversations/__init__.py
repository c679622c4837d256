"""The Conversations API: a conversation is a thread, read and written as one ordered item log."""
