"""Application services: the use cases the command line, the scheduler and the tests call."""
