// Forensic (failure) report emails, SMTP TLS JSON reports, and one mbox of report emails.
import { fmtBytes } from '../lib/report.mjs';

export default function otherReportCases(ctx) {
  const nForensic = ctx.quick ? 20 : 200;
  const nTls = ctx.quick ? 20 : 1000;
  const nMbox = ctx.quick ? 20 : 300;
  return [
    {
      id: `forensic/${nForensic}`,
      group: 'Forensic, SMTP TLS, mbox',
      title: `${nForensic} forensic report emails (RFC 6591, one file each)`,
      kind: 'cli',
      prepare: async () => {
        const set = await ctx.corpus.forensic(nForensic);
        return {
          inputs: [set.dir],
          files: set.files,
          reports: set.reports,
          records: 0,
          bytes: set.bytes,
          description: `${set.files} .eml files, ${fmtBytes(set.bytes)}`,
          expect: { forensicReports: set.reports },
        };
      },
    },
    {
      id: `smtp-tls/${nTls}`,
      group: 'Forensic, SMTP TLS, mbox',
      title: `${nTls} SMTP TLS reports (RFC 8460 JSON, one file each)`,
      kind: 'cli',
      prepare: async () => {
        const set = await ctx.corpus.smtpTls(nTls);
        return {
          inputs: [set.dir],
          files: set.files,
          reports: set.reports,
          records: 0,
          bytes: set.bytes,
          description: `${set.files} .json files, ${set.policies} policies, ${fmtBytes(set.bytes)}`,
          expect: { smtpTlsReports: set.reports },
        };
      },
    },
    {
      id: `mbox/${nMbox}`,
      group: 'Forensic, SMTP TLS, mbox',
      title: `one mbox of ${nMbox} report emails (aggregate gzip/zip attachments; every 10th a forensic report)`,
      kind: 'cli',
      prepare: async () => {
        const set = await ctx.corpus.mbox(nMbox);
        return {
          inputs: [set.path],
          files: 1,
          reports: set.reports,
          records: set.records,
          bytes: set.bytes,
          description: `${set.aggregates} aggregate (${set.records} records) + ${set.forensics} forensic, ${fmtBytes(set.bytes)}`,
          expect: {
            aggregateReports: set.aggregates,
            aggregateRecords: set.records,
            forensicReports: set.forensics,
          },
        };
      },
    },
  ];
}
