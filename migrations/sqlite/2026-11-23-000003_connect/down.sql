DROP TABLE consent_events;
DROP TABLE connection_tokens;
DROP TABLE connections;
DROP TABLE oauth_states;
DROP TABLE connect_sessions;
