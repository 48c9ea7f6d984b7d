-- Spoke nodes authenticate with a registered client certificate (RFC 8705); its SHA-256 thumbprint is kept for operators.
ALTER TABLE api_clients ADD COLUMN certificate_thumbprint text;
