/** Configuration files published by the original parsedmarc, as its users start from them. */
// The example configuration of the original's documentation (docs/source/usage.md, "Configuration file").
export const USAGE_EXAMPLE = `# This is an example comment

[general]
save_aggregate = True
save_failure = True

[imap]
host = imap.example.com
user = dmarcresports@example.com
password = $uperSecure

[mailbox]
watch = True
delete = False

[elasticsearch]
hosts = 127.0.0.1:9200
ssl = False

[opensearch]
hosts = https://admin:admin@127.0.0.1:9200
ssl = True

[splunk_hec]
url = https://splunkhec.example.com
token = HECTokenGoesHere
index = email

[s3]
bucket = my-bucket
path = parsedmarc

[syslog]
server = localhost
port = 514

[gelf]
host = logger
port = 12201
mode = tcp

[webhook]
aggregate_url = https://aggregate_url.example.com
failure_url = https://failure_url.example.com
smtp_tls_url = https://smtp_tls_url.example.com
timeout = 60
`;

// The original's docs/source/example.ini.
export const EXAMPLE_INI = `# This is an example comment

[general]
save_aggregate = True
save_failure = True

[imap]
host = imap.example.com
user = dmarcresports@example.com
password = $uperSecure
watch = True

[elasticsearch]
hosts = 127.0.0.1:9200
ssl = False

[splunk_hec]
url = https://splunkhec.example.com
token = HECTokenGoesHere
index = email

[s3]
bucket = my-bucket
path = parsedmarc

[gmail_api]
credentials_file = /etc/example/credentials.json
token_file = /etc/example/token.json
include_spam_trash = True
paginate_messages = True
scopes = https://www.googleapis.com/auth/gmail.modify
`;

// The original's ci.ini: note the keys without spaces around "=".
export const CI_INI = `[general]
save_aggregate = True
save_forensic = True
save_smtp_tls = True
debug = True
offline = True

[elasticsearch]
hosts = http://localhost:9200
ssl = False
number_of_shards=2
number_of_replicas=2
`;
