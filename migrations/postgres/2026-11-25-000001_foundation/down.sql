DROP TABLE sessions;
DROP TABLE staff;
DROP TABLE stores;
DROP TABLE tenants;
