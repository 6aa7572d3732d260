"""Answering a question: the LangChain chain, the Answer and its checks, the conversation log."""
