-- Replies act on what the person was told. A reply without an incident id
-- acts on the incidents named in the last page or digest sent to that
-- number, nothing else. A digest is several outbox rows sent as one SMS:
-- sent_with holds, on every row a sent SMS carried, the id of the first
-- row of that SMS, so "what that SMS named" is one lookup.
ALTER TABLE outbox ADD COLUMN sent_with INTEGER;
CREATE INDEX outbox_sent_with ON outbox (sent_with) WHERE sent_with IS NOT NULL;
CREATE INDEX outbox_told ON outbox (number, updated_at)
    WHERE status = 'sent' AND level > 0 AND channel = 'sms';

-- Answers to replies (confirmations, grammar help) by kind, so that the
-- answers to one number can be bounded per hour: a phone with an
-- auto-reply must never crowd out pages.
ALTER TABLE outbox ADD COLUMN answer TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_answers ON outbox (number, answer, created_at) WHERE answer != '';

-- Incomplete multi-part replies expire after a day; finding them must not
-- scan the whole table.
CREATE INDEX received_sms_parts ON received_sms (received_at) WHERE status = 'part';
