// Emailing results (its own entry point: it loads the SMTP client, which a plain parse never needs).
export { checkSmtpServer, emailNames, EmailResults, EmailSink, sendResultsMail } from './sink.js';
