"""The construction pipeline offline: synthetic sources made from the synthetic world, a ground-truth
annotator with injected errors (`annotator`), served over a real OpenAI-compatible HTTP server on the
loopback interface (`server`), and `run_synthetic_demo`, which builds from them and scores what the
checks caught (`demo`)."""
