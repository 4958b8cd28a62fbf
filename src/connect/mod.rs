//! The hub's side of connecting a member's vendor account: the OAuth 2 client
//! (`oauth`) and the token lifecycle (`tokens`). The member-facing pages that drive
//! it are in [`crate::consent`].

pub mod oauth;
pub mod tokens;
