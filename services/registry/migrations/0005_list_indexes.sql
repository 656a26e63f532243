-- Filters the product list offers: sector of either scheme.
CREATE INDEX products_sector ON products (sector);
CREATE INDEX products_statistics_sector ON products (statistics_sector);
