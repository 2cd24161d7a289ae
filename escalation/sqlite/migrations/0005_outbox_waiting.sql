-- A page handed back to the queue because its channel could not even try
-- (the modem is down or starting) is not an attempt. waiting_since records
-- when such a wait began (ms since the epoch, 0 while not waiting), so the
-- timeline says "waiting for the modem" once per page, not once per try.
ALTER TABLE outbox ADD COLUMN waiting_since INTEGER NOT NULL DEFAULT 0;
