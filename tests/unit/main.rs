//! keel-unit against the real world: the Debian unit corpus, systemd 252's own view of the
//! same files, and systemd's list of configuration items.

mod coverage;
mod debian_corpus;
