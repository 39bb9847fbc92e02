"""`ml-connector`, the operator's command line and the demo: an edge over `connector`, like the receiver."""
