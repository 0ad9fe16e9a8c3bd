//! Live collection against the fake Microsoft server, as a library and as the binary.

mod cli;
mod portal;
mod real_tenants;
mod scenarios;
