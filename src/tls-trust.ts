/** A TLS handshake that failed because this machine does not trust the server's certificate, and what to do about it. */

/** Node's codes for a certificate not trusted here (self-signed, unknown CA, expired, or not naming the host). */
const UNTRUSTED = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID)$/

export const isUntrustedCert = (code: string | undefined): boolean => code !== undefined && UNTRUSTED.test(code)

export const UNTRUSTED_CERT_HINT = "its TLS certificate is not trusted here: point NODE_EXTRA_CA_CERTS at the server's certificate (or its CA's) in PEM, and check the URL's host is one the certificate names"
