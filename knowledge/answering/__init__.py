"""Answering a question: the LangChain chain, the Answer and its checks, the conversation log, how fresh the
knowledge behind an answer is."""
