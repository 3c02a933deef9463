"""The read path: understand a question, search the store, assemble an answer of takeaways."""
