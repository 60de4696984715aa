//! What common transactional-mail providers do by default: which return-path (envelope sender) domain their
//! bounces use, and whether they sign with the customer's own domain. The alignment check falls back on these
//! when the manifest's `[email]` table names a `provider` but not `return_path` / `dkim_domain`.
//!
//! Sources: each provider's domain-authentication guide (linked per entry), as of 2026.

/// A provider's defaults once the customer has finished its domain set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Provider {
    /// Names users write in `provider = "..."`, lower case.
    pub names: &'static [&'static str],
    /// The return-path domain: `{domain}` stands for the sender domain. A fixed name means the provider's own
    /// bounce domain, which never aligns with the customer's From.
    pub return_path: &'static str,
    /// Whether the provider signs with `d=` the customer's domain once its DKIM records are published.
    pub signs_as_customer: bool,
    pub guide: &'static str,
}

pub(crate) const PROVIDERS: &[Provider] = &[
    Provider {
        names: &["postmark", "postmarkapp"],
        // Without a custom Return-Path CNAME, bounces go to pm.mtasv.net.
        return_path: "pm.mtasv.net",
        signs_as_customer: true,
        guide: "https://postmarkapp.com/support/article/910-adding-a-custom-return-path-domain",
    },
    Provider {
        names: &["sendgrid", "twilio sendgrid"],
        // Automated security sets up a CNAME'd bounce subdomain (emNNNN.<domain>).
        return_path: "em.{domain}",
        signs_as_customer: true,
        guide: "https://www.twilio.com/docs/sendgrid/ui/account-and-settings/how-to-set-up-domain-authentication",
    },
    Provider {
        names: &["mailgun"],
        // Customers verify a sending subdomain, conventionally mg.<domain>, which is also the envelope domain.
        return_path: "mg.{domain}",
        signs_as_customer: true,
        guide: "https://documentation.mailgun.com/docs/mailgun/user-manual/get-started/#verify-your-domain",
    },
    Provider {
        names: &["resend"],
        // The verified domain's send.<domain> subdomain carries the MX and SPF for bounces.
        return_path: "send.{domain}",
        signs_as_customer: true,
        guide: "https://resend.com/docs/dashboard/domains/introduction",
    },
    Provider {
        names: &["ses", "amazon ses", "aws ses", "amazonses"],
        // Without a custom MAIL FROM domain, SES uses amazonses.com.
        return_path: "amazonses.com",
        signs_as_customer: true,
        guide: "https://docs.aws.amazon.com/ses/latest/dg/mail-from.html",
    },
    Provider {
        names: &["google", "google workspace", "gmail", "gsuite"],
        return_path: "{domain}",
        signs_as_customer: true,
        guide: "https://support.google.com/a/answer/174124",
    },
    Provider {
        names: &[
            "microsoft",
            "microsoft 365",
            "office 365",
            "outlook",
            "m365",
        ],
        return_path: "{domain}",
        signs_as_customer: true,
        guide: "https://learn.microsoft.com/en-us/defender-office-365/email-authentication-dkim-configure",
    },
    Provider {
        names: &["mailchimp", "mandrill", "mailchimp transactional"],
        // Mandrill's bounce domain is its own unless a custom return-path is set.
        return_path: "mandrillapp.com",
        signs_as_customer: true,
        guide: "https://mailchimp.com/developer/transactional/docs/authentication-delivery/",
    },
    Provider {
        names: &["brevo", "sendinblue"],
        return_path: "sendinblue.com",
        signs_as_customer: true,
        guide: "https://help.brevo.com/hc/en-us/articles/12163873383186",
    },
];

/// The provider the manifest names, matched case-insensitively on any of its names.
pub(crate) fn find(name: &str) -> Option<&'static Provider> {
    let wanted = name.trim().to_ascii_lowercase();
    PROVIDERS
        .iter()
        .find(|p| p.names.contains(&wanted.as_str()))
}

impl Provider {
    /// The return-path domain for mail sent as `domain`.
    pub(crate) fn return_path_for(&self, domain: &str) -> String {
        self.return_path.replace("{domain}", domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_found_by_any_name_and_expand_the_sender_domain() {
        let ses = find(" Amazon SES ").unwrap();
        assert_eq!(ses.return_path_for("example.com"), "amazonses.com");
        assert_eq!(
            find("resend").unwrap().return_path_for("example.com"),
            "send.example.com"
        );
        assert!(find("carrier pigeon").is_none());
    }

    #[test]
    fn no_name_is_claimed_twice() {
        let mut names: Vec<&str> = PROVIDERS
            .iter()
            .flat_map(|p| p.names.iter().copied())
            .collect();
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), before);
    }
}
