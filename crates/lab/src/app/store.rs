//! The membership app's state: members with salted PBKDF2 password hashes, one-time tokens (email
//! confirmation, password reset), server-side sessions and orders. One mutex guards it all; every
//! operation is short and never awaits while holding it.

use ring::rand::{SecureRandom, SystemRandom};
use ring::{hmac, pbkdf2};
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// Lab-sized work factor: real enough to be a salted, slow hash, quick enough for unoptimised test builds.
const PBKDF2_ROUNDS: u32 = 2_000;

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // SystemRandom only fails when the OS has no randomness at all; fall back to the clock rather than panic.
    if SystemRandom::new().fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8;
        }
    }
    hex(&buf)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    hex(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message).as_ref())
}

/// Compares an HMAC-SHA256 given as hex with the one computed over `message`, in constant time.
pub(crate) fn hmac_verify(key: &[u8], message: &[u8], given_hex: &str) -> bool {
    let Some(given) = unhex(given_hex) else {
        return false;
    };
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), message, &given).is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn rounds() -> NonZeroU32 {
    NonZeroU32::new(PBKDF2_ROUNDS).unwrap_or(NonZeroU32::MIN)
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub email: String,
    salt: Vec<u8>,
    hash: Vec<u8>,
    pub confirmed: bool,
}

impl Member {
    pub fn new(email: &str, password: &str) -> Member {
        let salt = random_hex(16).into_bytes();
        let mut hash = vec![0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            rounds(),
            &salt,
            password.as_bytes(),
            &mut hash,
        );
        Member {
            email: email.to_string(),
            salt,
            hash,
            confirmed: false,
        }
    }

    pub fn password_matches(&self, password: &str) -> bool {
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            rounds(),
            &self.salt,
            password.as_bytes(),
            &self.hash,
        )
        .is_ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Confirm,
    Reset,
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    email: String,
    expires: Instant,
    used: bool,
}

/// Why a one-time link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    Unknown,
    Used,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderStatus {
    Pending,
    Paid,
    Declined,
}

#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub email: String,
    pub plan: String,
    pub amount_cents: u64,
    pub status: OrderStatus,
}

#[derive(Debug, Default)]
pub(crate) struct Db {
    members: HashMap<String, Member>,
    tokens: HashMap<String, Token>,
    sessions: HashMap<String, (String, Instant)>,
    orders: HashMap<String, Order>,
    events: HashSet<String>,
}

fn key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Db {
    pub fn member(&self, email: &str) -> Option<&Member> {
        self.members.get(&key(email))
    }

    /// Adds a member; false when the address is taken.
    pub fn add_member(&mut self, member: Member) -> bool {
        let k = key(&member.email);
        if self.members.contains_key(&k) {
            return false;
        }
        self.members.insert(k, member);
        true
    }

    pub fn confirm(&mut self, email: &str) {
        if let Some(m) = self.members.get_mut(&key(email)) {
            m.confirmed = true;
        }
    }

    pub fn set_password(&mut self, email: &str, password: &str) {
        if let Some(m) = self.members.get_mut(&key(email)) {
            *m = Member::new(&m.email, password);
            // Reaching the reset link proves the address as well as a confirmation link would.
            m.confirmed = true;
        }
        // A new password ends every session opened with the old one.
        let k = key(email);
        self.sessions.retain(|_, (e, _)| key(e) != k);
    }

    pub fn issue_token(&mut self, kind: TokenKind, email: &str, ttl: Duration) -> String {
        let token = random_hex(24);
        self.tokens.insert(
            token.clone(),
            Token {
                kind,
                email: email.to_string(),
                expires: Instant::now() + ttl,
                used: false,
            },
        );
        token
    }

    /// The address a valid, unused token of `kind` belongs to, without using it up.
    pub fn check_token(&self, kind: TokenKind, token: &str) -> Result<String, TokenError> {
        let t = self
            .tokens
            .get(token)
            .filter(|t| t.kind == kind)
            .ok_or(TokenError::Unknown)?;
        if t.used {
            return Err(TokenError::Used);
        }
        if Instant::now() >= t.expires {
            return Err(TokenError::Expired);
        }
        Ok(t.email.clone())
    }

    /// Uses a token up: it answers `Used` from now on.
    pub fn use_token(&mut self, kind: TokenKind, token: &str) -> Result<String, TokenError> {
        let email = self.check_token(kind, token)?;
        if let Some(t) = self.tokens.get_mut(token) {
            t.used = true;
        }
        Ok(email)
    }

    pub fn open_session(&mut self, email: &str, ttl: Duration) -> String {
        let id = random_hex(32);
        self.sessions
            .insert(id.clone(), (email.to_string(), Instant::now() + ttl));
        id
    }

    /// The member a live session belongs to; an expired session is forgotten.
    pub fn session(&mut self, id: &str) -> Option<String> {
        let (email, expires) = self.sessions.get(id)?.clone();
        if Instant::now() >= expires {
            self.sessions.remove(id);
            return None;
        }
        Some(email)
    }

    pub fn close_session(&mut self, id: &str) {
        self.sessions.remove(id);
    }

    pub fn add_order(&mut self, order: Order) -> String {
        let id = format!("ord_{}", random_hex(8));
        self.orders.insert(id.clone(), order);
        id
    }

    pub fn order(&self, id: &str) -> Option<&Order> {
        self.orders.get(id)
    }

    /// Applies a payment event once; a replayed event id changes nothing. False when the order is unknown.
    pub fn settle(&mut self, event_id: &str, order_id: &str, status: OrderStatus) -> bool {
        let Some(order) = self.orders.get_mut(order_id) else {
            return false;
        };
        if self.events.insert(event_id.to_string()) {
            order.status = status;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_salted_and_verified() {
        let a = Member::new("a@x.test", "Correct-Horse-42");
        let b = Member::new("b@x.test", "Correct-Horse-42");
        assert!(a.password_matches("Correct-Horse-42"));
        assert!(!a.password_matches("correct-horse-42"));
        assert_ne!(a.hash, b.hash, "same password, different salt");
    }

    #[test]
    fn tokens_are_single_use_and_expire() {
        let mut db = Db::default();
        let t = db.issue_token(TokenKind::Reset, "a@x.test", Duration::from_secs(60));
        assert_eq!(
            db.check_token(TokenKind::Confirm, &t),
            Err(TokenError::Unknown)
        );
        assert_eq!(
            db.use_token(TokenKind::Reset, &t).as_deref(),
            Ok("a@x.test")
        );
        assert_eq!(db.use_token(TokenKind::Reset, &t), Err(TokenError::Used));
        let old = db.issue_token(TokenKind::Reset, "a@x.test", Duration::ZERO);
        assert_eq!(
            db.check_token(TokenKind::Reset, &old),
            Err(TokenError::Expired)
        );
        assert_eq!(
            db.check_token(TokenKind::Reset, "nope"),
            Err(TokenError::Unknown)
        );
    }

    #[test]
    fn sessions_expire_and_end_with_a_new_password() {
        let mut db = Db::default();
        assert!(db.add_member(Member::new("a@x.test", "Correct-Horse-42")));
        assert!(!db.add_member(Member::new("A@X.test", "Other-Horse-42")));
        let live = db.open_session("a@x.test", Duration::from_secs(60));
        let dead = db.open_session("a@x.test", Duration::ZERO);
        assert_eq!(db.session(&live).as_deref(), Some("a@x.test"));
        assert_eq!(db.session(&dead), None);
        db.set_password("a@x.test", "Brand-New-Pass-7");
        assert_eq!(db.session(&live), None);
        assert!(
            db.member("a@x.test")
                .is_some_and(|m| m.password_matches("Brand-New-Pass-7"))
        );
    }

    #[test]
    fn hmac_round_trip() {
        let sig = hmac_hex(b"k", b"msg");
        assert!(hmac_verify(b"k", b"msg", &sig));
        assert!(!hmac_verify(b"k", b"msg2", &sig));
        assert!(!hmac_verify(b"k", b"msg", "zz"));
    }
}
