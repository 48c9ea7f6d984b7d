-- People who sign in (device authorization grant). Passwords only as slow salted hashes
-- (PBKDF2, ASP.NET Core Identity format); TOTP secrets only encrypted with the hub's data-protection keys.
CREATE TABLE users (
    user_id               TEXT PRIMARY KEY,
    display_name          TEXT NOT NULL,
    role                  TEXT NOT NULL CHECK (role IN ('pathologist', 'expert_pathologist', 'referral_coordinator', 'statistician', 'administrator')),
    facility_code         TEXT NOT NULL REFERENCES facilities (facility_code),
    expert_id             TEXT REFERENCES experts (expert_id),
    password_hash         TEXT NOT NULL,
    totp_secret_protected TEXT,
    -- Last accepted TOTP time step: a code is never accepted twice.
    totp_last_step        INTEGER NOT NULL DEFAULT 0,
    failed_sign_ins       INTEGER NOT NULL DEFAULT 0,
    locked_until          TEXT,
    registered_at         TEXT NOT NULL,
    disabled_at           TEXT,
    CHECK (role <> 'administrator' OR totp_secret_protected IS NOT NULL),
    CHECK (role <> 'expert_pathologist' OR expert_id IS NOT NULL)
) WITHOUT ROWID;
