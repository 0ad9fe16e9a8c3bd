//! A newcomer's first hour with their own input: file mix-ups, huge one-line files, `--facts -`,
//! several problems at once, `explain`, `controls` and `lint` as a user runs them.
