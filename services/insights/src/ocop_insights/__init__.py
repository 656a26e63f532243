"""The insights service: the programme's statistics, read from every public topic."""
