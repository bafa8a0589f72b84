-- Operations: a cancelled order gives its promotion redemptions back (the use no longer counts
-- against the promotion's or the customer's limit); the redemption stays, marked released.
ALTER TABLE promotion_redemptions ADD COLUMN released_at timestamptz;
GRANT UPDATE (released_at) ON promotion_redemptions TO gateway_app;
