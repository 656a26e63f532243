-- When a person's data was erased on request (Decree 13/2023 on personal data protection).
ALTER TABLE producers ADD COLUMN personal_data_erased_at timestamptz;
