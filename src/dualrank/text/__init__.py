"""Text for the encoders: the demo's WordPiece vocabulary (tokenizer; ``dualrank tokenizer``),
the memory-mapped token-id cache every job reads (cache), and id -> text look-ups (lookup)."""
