"""Pure rules of the insights service: the facts it keeps and the statistics it offers."""
