/**
 * The simulator's TLS certificate — a TEST CERTIFICATE, never for production: its private key
 * is published right here, so anyone can impersonate whatever trusts it. Trust it only in a
 * client that talks to a simulator (`simulator.ca`), never in a system trust store.
 *
 * A self-signed P-256 certificate for `localhost`, `127.0.0.1` and `::1`, valid from 2000-01-01
 * to 2125-01-01 (a machine with a wrong clock still accepts it), made once with OpenSSL 3.0:
 *
 *   openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
 *     -subj "/CN=localhost/O=Tollgate simulator test certificate" -keyout key.pem -out req.csr
 *   openssl ca -batch -config ca.cnf -selfsign -keyfile key.pem -in req.csr \
 *     -startdate 20000101000000Z -enddate 21250101000000Z -out cert.pem
 *
 * where ca.cnf's extensions are `basicConstraints = critical, CA:TRUE`, `keyUsage = critical,
 * digitalSignature, keyCertSign`, `extendedKeyUsage = serverAuth` and `subjectAltName =
 * DNS:localhost, IP:127.0.0.1, IP:::1`. It is its own CA, so a client trusts it by passing
 * it as `ca`.
 */
export const TEST_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIB+zCCAaKgAwIBAgIBATAKBggqhkjOPQQDAjBCMRIwEAYDVQQDDAlsb2NhbGhv
c3QxLDAqBgNVBAoMI1RvbGxnYXRlIHNpbXVsYXRvciB0ZXN0IGNlcnRpZmljYXRl
MCAXDTAwMDEwMTAwMDAwMFoYDzIxMjUwMTAxMDAwMDAwWjBCMRIwEAYDVQQDDAls
b2NhbGhvc3QxLDAqBgNVBAoMI1RvbGxnYXRlIHNpbXVsYXRvciB0ZXN0IGNlcnRp
ZmljYXRlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEItYY6fI60rpIWsLHDKNj
RApXzz7aP8VmQvrFtnIDRbP4gJDUWJ9vQ9UMTf8rScy7Z4Brvhfr9HDGKLpHBeEH
C6OBhjCBgzAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIChDATBgNVHSUE
DDAKBggrBgEFBQcDATAsBgNVHREEJTAjgglsb2NhbGhvc3SHBH8AAAGHEAAAAAAA
AAAAAAAAAAAAAAEwHQYDVR0OBBYEFLx1qLGjaNhI0Sqka8Sg/7gcQ2RWMAoGCCqG
SM49BAMCA0cAMEQCIGGWkLokb2caxTJXBH2Coa56XypSZ3BxuLH8iBFshiYkAiAo
0gN0aFC/dBex+DLgMKdr2D9HtNgoc2T7J3BVczR5jg==
-----END CERTIFICATE-----
`;

/** The private key of {@link TEST_CERTIFICATE}: public on purpose, for tests only. */
export const TEST_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTUNKjWGxjnWK0UR3
FT9ZEQoT0AeaGs7H69MFaKkioXahRANCAAQi1hjp8jrSukhawscMo2NEClfPPto/
xWZC+sW2cgNFs/iAkNRYn29D1QxN/ytJzLtngGu+F+v0cMYoukcF4QcL
-----END PRIVATE KEY-----
`;
