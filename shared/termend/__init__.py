"""After term, the I/O side: read the cluster, the bucket and the hub into the pure teardown
plan's `UserState`s (`survey`), check each final archive against the term index and its
manifest (`archive_checks`), and carry a plan out, one user at a time, recording each user
finished so a second run resumes (`tearing`). The decisions are `shared.teardown`'s.
"""
