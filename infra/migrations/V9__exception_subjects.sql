-- Exceptions are opened through one function (platform::exceptions::open), deduplicated per subject
-- and kind: while an exception about a subject (an order line, a channel's order, a message, an
-- event) is open, opening it again adds nothing.
ALTER TABLE exception_records ADD COLUMN subject text CHECK (length(subject) <= 300);
CREATE UNIQUE INDEX exception_records_open_subject ON exception_records (kind, subject)
    WHERE status = 'open' AND subject IS NOT NULL;
