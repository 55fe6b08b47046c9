"""Several xWrap nodes on one PostgreSQL and one Redis (docs/scaling.md).

Each exchange runs on one node at a time, the holder of its lease (:mod:`.leases`); the other
nodes forward its order requests there (:mod:`.forwarding`), keep a copy of its books
(:mod:`.mirror`) and pass on its notifications (:mod:`.relay`). :class:`.node.ClusterNode`
puts them together for the server.
"""
