-- What an order was taken from, as a fingerprint (SHA-256 of the intake input as read, defaults
-- filled): the same external id with another body is a conflict, with the same body a repeat.
ALTER TABLE orders ADD COLUMN input_fingerprint bytea CHECK (octet_length(input_fingerprint) = 32);
