/**
 * Access Now STOP's columns and controlled vocabularies (research: evidence-transparency.md §1.2),
 * and country names as STOP writes them. Analysts annotating through the API use exactly these
 * values; imports keep whatever a sheet says, since older sheets spell them differently.
 */

/** The combined sheet's 47 columns, in its order. */
export const STOP_COLUMNS = [
  'start_date_type',
  'start_date',
  'country',
  'geo_scope',
  'area_name',
  'shutdown_type',
  'affected_network',
  'shutdown_extent',
  'ordered_by',
  'decision_maker',
  'actual_cause',
  'actual_cause_details',
  'info_source',
  'info_source_link',
  'shutdown_status',
  'end_date',
  'duration',
  'gov_justification',
  'gov_just_details',
  'gov_ack',
  'legal_just',
  'legal_method',
  'gov_ack_source',
  'gov_ack_quote',
  'facebook_affected',
  'twitter_affected',
  'whatsapp_affected',
  'instagram_affected',
  'telegram_affected',
  'other_affected',
  'sms_affected',
  'phonecall_affected',
  'telcos_involved',
  'telco_ack',
  'telco_ack_source',
  'telco_ack_quote',
  'election',
  'violence',
  'hr_abuse_reported',
  'users_targeted',
  'users_target_detail',
  'users_notified',
  'econ_impact',
  'event',
  'an_link',
  'region',
  'count_year',
] as const;
export type StopColumn = (typeof STOP_COLUMNS)[number];

export const ACTUAL_CAUSES = [
  'Conflict',
  'Protests',
  'Information control',
  'Communal violence',
  'Exam cheating',
  'Religious holiday/anniversary',
  'Elections',
  'Visits by government officials',
  'Political instability',
  'Other',
  'Unknown',
] as const;

export const GOV_JUSTIFICATIONS = [
  'Fake news/ Hate speech/ Incendiary content/ Promoting violence',
  'Public safety/ Quell unrest/ Restore public order',
  'National security/ Counter-terrorism',
  'Sabotage/ Third-party Action',
  'School exams',
  'Precautionary measure',
  'Illegal content',
  'Technical problems/ Infrastructure failure',
  'Other',
  'Unknown',
] as const;

export const YES_NO_UNKNOWN = ['Yes', 'No', 'Unknown'] as const;

/** STOP's per-platform columns and the catalog's platform ids they stand for. */
export const PLATFORM_COLUMNS: ReadonlyArray<{ column: StopColumn; ids: readonly string[] }> = [
  { column: 'facebook_affected', ids: ['facebook', 'facebook_messenger'] },
  { column: 'twitter_affected', ids: ['x', 'twitter'] },
  { column: 'whatsapp_affected', ids: ['whatsapp'] },
  { column: 'instagram_affected', ids: ['instagram'] },
  { column: 'telegram_affected', ids: ['telegram'] },
];

/** Names STOP sheets use that differ from CLDR's English names (keys normalized, see below). */
const ALIASES: Record<string, string> = {
  iranislamicrepublicof: 'IR',
  congodemocraticrepublicofthe: 'CD',
  democraticrepublicofthecongo: 'CD',
  democraticrepubliccongo: 'CD',
  congo: 'CG',
  laos: 'LA',
  palestinestateof: 'PS',
  palestine: 'PS',
  russianfederation: 'RU',
  syrianarabrepublic: 'SY',
  tanzaniaunitedrepublicof: 'TZ',
  turkey: 'TR',
  unitedstatesofamerica: 'US',
  venezuelabolivarianrepublicof: 'VE',
  vietnam: 'VN',
  myanmar: 'MM',
  // Not a state in ISO 3166; STOP lists it apart, we place it in Somalia.
  somaliland: 'SO',
  swaziland: 'SZ',
  macedonia: 'MK',
};

/** The name STOP uses for a code where it is not CLDR's. */
const STOP_NAMES: Record<string, string> = {
  IR: 'Iran (Islamic Republic of)',
  CD: 'Congo (Democratic Republic of the)',
  CG: 'Congo',
  CI: "Côte d'Ivoire",
  LA: 'Laos',
  PS: 'Palestine, State of',
  RU: 'Russian Federation',
  SY: 'Syrian Arab Republic',
  TZ: 'Tanzania, United Republic of',
  TR: 'Turkey',
  US: 'United States of America',
  VE: 'Venezuela (Bolivarian Republic of)',
  VN: 'Viet Nam',
  MM: 'Myanmar',
};

function normalize(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

let byName: Map<string, string> | null = null;

function names(): Map<string, string> {
  if (byName) return byName;
  const display = new Intl.DisplayNames(['en'], { type: 'region' });
  byName = new Map();
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      const name = display.of(code);
      if (name && name !== code) byName.set(normalize(name), code);
    }
  }
  for (const [alias, code] of Object.entries(ALIASES)) byName.set(alias, code);
  return byName;
}

/** ISO 3166-1 alpha-2 code of a country as STOP names it, or null. */
export function countryCode(name: string): string | null {
  return names().get(normalize(name)) ?? null;
}

/** The name STOP would write for a code. */
export function countryName(code: string): string {
  return STOP_NAMES[code] ?? new Intl.DisplayNames(['en'], { type: 'region' }).of(code) ?? code;
}
