DROP TABLE member_keys;
DROP TABLE members;
DROP TABLE portals;
DROP TABLE key_ring;
