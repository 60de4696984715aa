//! Email-authentication lookups: hickory answers turned into the plain `launchready_mail::dns::Answer` data the
//! SPF, DMARC and DKIM evaluators read.
