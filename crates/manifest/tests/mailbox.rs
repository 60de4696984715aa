//! The `[mailbox]` table as users meet it: an SMTP sink or an IMAP inbox whose password stays in the environment,
//! and errors located at the value at fault.

use launchready_manifest::Mailbox;

mod common;

use common::{parse, rejects};

#[test]
fn no_table_means_no_mailbox() {
    assert_eq!(parse("").expect("valid").mailbox, None);
}

#[test]
fn an_smtp_sink_or_an_imap_inbox() {
    let sink = parse("[mailbox]\nsmtp_listen = \"127.0.0.1:2525\"\n").expect("valid");
    assert_eq!(
        sink.mailbox,
        Some(Mailbox::SmtpSink {
            listen: "127.0.0.1:2525".parse().expect("address")
        })
    );
    let imap = parse(
        "[mailbox]\nimap = \"imaps://launch%40example.com@mail.example.com\"\npassword_env = \"INBOX_PASSWORD\"\n",
    )
    .expect("valid");
    match imap.mailbox {
        Some(Mailbox::Imap { url, password_env }) => {
            assert_eq!(url.host_str(), Some("mail.example.com"));
            assert_eq!(url.username(), "launch%40example.com");
            assert_eq!(password_env, "INBOX_PASSWORD");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mistakes_are_located_with_a_way_out() {
    rejects(
        "[mailbox]\nsmtp_listn = \"127.0.0.1:2525\"\n",
        5,
        1,
        &[
            "unknown key `smtp_listn` in [mailbox]",
            "did you mean `smtp_listen`?",
        ],
    );
    rejects(
        "[mailbox]\nsmtp_listen = \"localhost:2525\"\n",
        5,
        15,
        &["not an IP address and port", "127.0.0.1:2525"],
    );
    rejects(
        "[mailbox]\nimap = \"imap://launch@mail.example.com\"\npassword_env = \"P\"\n",
        5,
        8,
        &["not an imaps://USER@HOST URL"],
    );
    rejects(
        "[mailbox]\nimap = \"imaps://launch:hunter2@mail.example.com\"\npassword_env = \"P\"\n",
        5,
        8,
        &["must not hold the password", "environment variable"],
    );
    rejects(
        "[mailbox]\nimap = \"imaps://launch@mail.example.com\"\n",
        5,
        8,
        &["needs `password_env`"],
    );
    rejects(
        "[mailbox]\nimap = \"imaps://launch@mail.example.com\"\npassword_env = \"s3cr3t pass\"\n",
        6,
        16,
        &["not an environment variable name"],
    );
    rejects(
        "[mailbox]\nsmtp_listen = \"127.0.0.1:2525\"\nimap = \"imaps://launch@mail.example.com\"\n",
        6,
        8,
        &["both `smtp_listen` and `imap`"],
    );
    rejects("[mailbox]\n", 4, 1, &["needs `smtp_listen` or `imap`"]);
}
