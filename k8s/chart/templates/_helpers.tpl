{{- define "pipeline.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "pipeline.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The stage services: name → (values key, entry point). */}}
{{- define "pipeline.stages" -}}
report-parse: reportParse
enrich: enrich
{{- end -}}

{{/* mail-ingest and the sink services: name → values key (Deployments, see deployments.yaml). */}}
{{- define "pipeline.deployments" -}}
mail-ingest: mailIngest
sink-elastic: sinkElastic
sink-hec: sinkHec
sink-smtp: sinkSmtp
{{- end -}}

{{/*
  Per sink service: its secret files (env pointing at them, mounts, volumes). Secrets are mounted as files
  and read through <NAME>_FILE, never put in the environment.
*/}}
{{- define "pipeline.mail-ingest.env" -}}
{{- $imap := .Values.mailIngest.imap }}
{{- if $imap.existingSecret }}
- name: IMAP_PASSWORD_FILE
  value: /var/run/secrets/parsedmarc/imap/{{ $imap.passwordKey }}
{{- end }}
{{- if $imap.caSecret }}
- name: IMAP_TLS_CA_FILE
  value: /var/run/secrets/parsedmarc/imap-ca/{{ $imap.caKey }}
{{- end }}
{{- end -}}

{{- define "pipeline.mail-ingest.volumeMounts" -}}
{{- $imap := .Values.mailIngest.imap }}
{{- if $imap.existingSecret }}
- name: imap-secret
  mountPath: /var/run/secrets/parsedmarc/imap
  readOnly: true
{{- end }}
{{- if $imap.caSecret }}
- name: imap-ca
  mountPath: /var/run/secrets/parsedmarc/imap-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "pipeline.mail-ingest.volumes" -}}
{{- $imap := .Values.mailIngest.imap }}
{{- if $imap.existingSecret }}
- name: imap-secret
  secret: { secretName: {{ $imap.existingSecret }} }
{{- end }}
{{- if $imap.caSecret }}
- name: imap-ca
  secret: { secretName: {{ $imap.caSecret }} }
{{- end }}
{{- end -}}

{{- define "pipeline.sink-elastic.env" -}}
{{- $es := .Values.sinkElastic.elasticsearch }}
{{- if and $es.existingSecret $es.user }}
- name: ELASTICSEARCH_PASSWORD_FILE
  value: /var/run/secrets/parsedmarc/elasticsearch/{{ $es.passwordKey }}
{{- end }}
{{- if and $es.existingSecret $es.apiKeyKey }}
- name: ELASTICSEARCH_API_KEY_FILE
  value: /var/run/secrets/parsedmarc/elasticsearch/{{ $es.apiKeyKey }}
{{- end }}
{{- if $es.caSecret }}
- name: ELASTICSEARCH_CA_FILE
  value: /var/run/secrets/parsedmarc/elasticsearch-ca/{{ $es.caKey }}
{{- end }}
{{- end -}}

{{- define "pipeline.sink-elastic.volumeMounts" -}}
{{- $es := .Values.sinkElastic.elasticsearch }}
{{- if $es.existingSecret }}
- name: elasticsearch-secret
  mountPath: /var/run/secrets/parsedmarc/elasticsearch
  readOnly: true
{{- end }}
{{- if $es.caSecret }}
- name: elasticsearch-ca
  mountPath: /var/run/secrets/parsedmarc/elasticsearch-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "pipeline.sink-elastic.volumes" -}}
{{- $es := .Values.sinkElastic.elasticsearch }}
{{- if $es.existingSecret }}
- name: elasticsearch-secret
  secret: { secretName: {{ $es.existingSecret }} }
{{- end }}
{{- if $es.caSecret }}
- name: elasticsearch-ca
  secret: { secretName: {{ $es.caSecret }} }
{{- end }}
{{- end -}}

{{- define "pipeline.sink-hec.env" -}}
{{- $hec := .Values.sinkHec.hec }}
{{- if $hec.existingSecret }}
- name: HEC_TOKEN_FILE
  value: /var/run/secrets/parsedmarc/hec/{{ $hec.tokenKey }}
{{- end }}
{{- if $hec.caSecret }}
- name: HEC_CA_FILE
  value: /var/run/secrets/parsedmarc/hec-ca/{{ $hec.caKey }}
{{- end }}
{{- end -}}

{{- define "pipeline.sink-hec.volumeMounts" -}}
{{- $hec := .Values.sinkHec.hec }}
{{- if $hec.existingSecret }}
- name: hec-secret
  mountPath: /var/run/secrets/parsedmarc/hec
  readOnly: true
{{- end }}
{{- if $hec.caSecret }}
- name: hec-ca
  mountPath: /var/run/secrets/parsedmarc/hec-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "pipeline.sink-hec.volumes" -}}
{{- $hec := .Values.sinkHec.hec }}
{{- if $hec.existingSecret }}
- name: hec-secret
  secret: { secretName: {{ $hec.existingSecret }} }
{{- end }}
{{- if $hec.caSecret }}
- name: hec-ca
  secret: { secretName: {{ $hec.caSecret }} }
{{- end }}
{{- end -}}

{{- define "pipeline.sink-smtp.env" -}}
{{- $smtp := .Values.sinkSmtp.smtp }}
{{- if $smtp.existingSecret }}
- name: SMTP_PASSWORD_FILE
  value: /var/run/secrets/parsedmarc/smtp/{{ $smtp.passwordKey }}
{{- end }}
{{- if $smtp.caSecret }}
- name: SMTP_CA_FILE
  value: /var/run/secrets/parsedmarc/smtp-ca/{{ $smtp.caKey }}
{{- end }}
{{- end -}}

{{- define "pipeline.sink-smtp.volumeMounts" -}}
{{- $smtp := .Values.sinkSmtp.smtp }}
{{- if $smtp.existingSecret }}
- name: smtp-secret
  mountPath: /var/run/secrets/parsedmarc/smtp
  readOnly: true
{{- end }}
{{- if $smtp.caSecret }}
- name: smtp-ca
  mountPath: /var/run/secrets/parsedmarc/smtp-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "pipeline.sink-smtp.volumes" -}}
{{- $smtp := .Values.sinkSmtp.smtp }}
{{- if $smtp.existingSecret }}
- name: smtp-secret
  secret: { secretName: {{ $smtp.existingSecret }} }
{{- end }}
{{- if $smtp.caSecret }}
- name: smtp-ca
  secret: { secretName: {{ $smtp.caSecret }} }
{{- end }}
{{- end -}}
