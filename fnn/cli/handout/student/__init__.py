"""The student files of the handout, as `fnn.cli.handout` writes them: each a module that runs as
it is, its forward pass given, and the backward passes and update rules raising
NotImplementedError until a student writes them."""
