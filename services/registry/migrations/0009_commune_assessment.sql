-- Under 1489 the commune pre-assesses a submitted dossier: its local-content points, its report
-- and its request to the city (or the reasons it returned the dossier).
ALTER TABLE applications ADD COLUMN commune_assessment jsonb;
-- A dossier the commune asked the city to evaluate is still in progress: one a product.
DROP INDEX applications_one_open;
CREATE UNIQUE INDEX applications_one_open ON applications (product_id)
    WHERE status IN ('draft', 'submitted', 'commune_assessed', 'returned', 'accepted');
