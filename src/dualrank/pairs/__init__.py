"""Training pairs and what scores them (stages 2-4 after BM25).

candidates (a query's labelled positives plus its BM25 negatives; NQ's dev mix of BM25 and
random negatives; ``dualrank candidates``), teacher (MS MARCO's published T1 teacher scores
imported, or a trained CA teacher's scores; ``dualrank teacher-import|teacher-score``) and
aggregate (each query's top-K passages by teacher score or label, the groups a run trains on;
``dualrank aggregate``) and triples (one group per training triple for the K = 2 losses;
``dualrank aggregate --triples``).
"""
