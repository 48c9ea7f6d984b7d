-- People who sign in (device authorization grant). Passwords only as slow salted hashes
-- (PBKDF2, ASP.NET Core Identity format); TOTP secrets only encrypted with the hub's data-protection keys.
CREATE TABLE users (
    user_id               text PRIMARY KEY,
    display_name          text NOT NULL,
    role                  text NOT NULL CHECK (role IN ('pathologist', 'expert_pathologist', 'referral_coordinator', 'statistician', 'administrator')),
    facility_code         text NOT NULL REFERENCES facilities (facility_code),
    expert_id             text REFERENCES experts (expert_id),
    password_hash         text NOT NULL,
    totp_secret_protected text,
    -- Last accepted TOTP time step: a code is never accepted twice.
    totp_last_step        bigint NOT NULL DEFAULT 0,
    failed_sign_ins       integer NOT NULL DEFAULT 0,
    locked_until          text,
    registered_at         text NOT NULL,
    disabled_at           text,
    CHECK (role <> 'administrator' OR totp_secret_protected IS NOT NULL),
    CHECK (role <> 'expert_pathologist' OR expert_id IS NOT NULL)
);
