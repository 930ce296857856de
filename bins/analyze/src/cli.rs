//! Command line of keel-analyze.
