"""The SQL each build stage reads and writes, one module per stage.

Stage declarations (:mod:`mmrare.stages`) call these functions with the connection the flow owns;
they hand back plain rows or the shared records of :mod:`mmrare.items` and :mod:`mmrare.records`,
never a stage package's types, so the warehouse depends on no stage.
"""
