-- What was asked and answered, feedback on answers, hand-offs to HR, and Slack deliveries already handled.

-- Exactly-once handling of Slack events across retries, restarts and replicas: the first to insert wins.
CREATE TABLE processed_events (
    event_id     text PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_events_received ON processed_events (received_at);

CREATE TABLE questions (
    question_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slack_user_id  text,
    employee_id    text,
    surface        text NOT NULL CHECK (surface IN ('dm', 'assistant', 'mention', 'command', 'cli', 'api')),
    question       text NOT NULL,
    answer         text NOT NULL,
    kind           text NOT NULL,
    supported      boolean NOT NULL,
    citations      jsonb NOT NULL DEFAULT '[]',
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX questions_created ON questions (created_at);

CREATE TABLE feedback (
    question_id    bigint NOT NULL REFERENCES questions ON DELETE CASCADE,
    slack_user_id  text NOT NULL,
    helpful        boolean NOT NULL,
    comment        text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (question_id, slack_user_id)
);

CREATE TABLE escalations (
    escalation_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question_id    bigint NOT NULL REFERENCES questions ON DELETE CASCADE,
    slack_user_id  text NOT NULL,
    destination    text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (question_id)
);
