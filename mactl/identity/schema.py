"""Private tables of the identity stage. Add a new Migration version for each change once shipped."""

from __future__ import annotations

from mactl.workspace import Migration

MIGRATIONS: list[Migration] = [
    # The normalised form of each source record, filled by identity.normalize and read by matching.
    # One row per source_record; rows of records deleted by `import --replace` are removed.
    Migration(
        "identity_norm",
        1,
        (
            """CREATE TABLE record_norm (
                record_id BIGINT NOT NULL,
                email VARCHAR,              -- trimmed, lower-cased; NULL when empty or invalid
                email_valid BOOLEAN,        -- NULL when no email given; false when given but invalid
                email_domain VARCHAR,
                email_is_role BOOLEAN,      -- info@, sales@, hr@, marketing@ ...
                email_is_freemail BOOLEAN,  -- qq.com, 163.com, gmail.com ...
                phone VARCHAR,              -- E.164 of the phone column; NULL when empty or invalid
                phone_valid BOOLEAN,        -- NULL when no phone given; false when given but invalid
                phone_kind VARCHAR,         -- mobile | landline | other
                landline VARCHAR,           -- E.164 of a landline (landline column, or phone column when it is one)
                name VARCHAR,               -- key: NFKC, simplified, CJK without spaces, honorific removed, latin lower-case
                name_script VARCHAR,        -- cjk | latin | mixed
                surname VARCHAR,
                given_name VARCHAR,
                surname_only BOOLEAN,       -- 张先生 / 李女士 / Mr. Zhang: only the surname is known
                honorific VARCHAR,          -- 先生, 女士, 总, 经理, 老师, mr, ms ...
                gender_hint VARCHAR,        -- m | f | NULL
                name_pinyin VARCHAR,        -- pinyin tokens sorted, lower-case: 'wei zhang' for 张伟 and 'Zhang Wei'
                company VARCHAR,            -- simplified, lower-case latin, legal suffix and region removed
                company_key VARCHAR,        -- brand key: 华为 for 华为技术有限公司
                company_pinyin VARCHAR,     -- pinyin of company_key for CJK names, so 'huawei' meets 华为
                company_region VARCHAR,     -- the city/region taken out of the name, if any
                wechat_unionid VARCHAR,
                wechat_openid VARCHAR,
                crm_id VARCHAR
            )""",
        ),
    ),
    Migration(
        "identity",
        1,
        (
            # Why records are together: one row per accepted link of the last merge.
            # Exact-key links point at the group's first record (anchor); fuzzy links name both records.
            """CREATE TABLE identity_link (
                record_id BIGINT NOT NULL,
                other_record_id BIGINT NOT NULL,
                rule VARCHAR NOT NULL,          -- exact_email, exact_phone, exact_wechat, exact_crm_id, name_company, email_typo, manual_link
                strength VARCHAR NOT NULL,      -- strong | weak
                score DOUBLE,                   -- similarity of a fuzzy link, 0..100
                detail VARCHAR                  -- the shared key or the compared values
            )""",
            # Decisions people made; they win over rules in every later merge.
            """CREATE TABLE identity_override (
                override_id BIGINT NOT NULL,
                kind VARCHAR NOT NULL,          -- must_link | cannot_link
                record_id BIGINT NOT NULL,
                other_record_id BIGINT NOT NULL,
                reason VARCHAR,
                created_at TIMESTAMP NOT NULL,
                active BOOLEAN NOT NULL         -- false once undone
            )""",
            # Unsure pairs waiting for a person's decision.
            """CREATE TABLE identity_review (
                record_id BIGINT NOT NULL,
                other_record_id BIGINT NOT NULL,
                rule VARCHAR NOT NULL,
                score DOUBLE,
                reason VARCHAR,
                status VARCHAR NOT NULL,        -- open | linked | separate
                created_at TIMESTAMP NOT NULL,
                decided_at TIMESTAMP
            )""",
            # Existing people merged into an older one, per merge run (for undo).
            """CREATE TABLE identity_merge_event (
                merge_run BIGINT NOT NULL,
                person_id VARCHAR NOT NULL,     -- the surviving (older) id
                merged_person_id VARCHAR NOT NULL,
                merged_records BIGINT[] NOT NULL, -- the records the merged person had
                merged_at TIMESTAMP NOT NULL,
                undone BOOLEAN NOT NULL
            )""",
        ),
    ),
]
