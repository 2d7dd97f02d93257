"""Readers of the upstream IR formats (MS MARCO, TREC, DPR) and their conversion to the contracts."""
