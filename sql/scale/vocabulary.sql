-- vocabulary.sql - what the intake demo (sql/demo/intake_demo.sql) and the
-- scale generator (sql/scale/generate.sql) make their people from: names,
-- GP practices, languages, referral reasons, and NHS numbers.  Included
-- with \ir by those scripts; it creates only session-local objects (the
-- temporary view intake_vocab and functions in pg_temp), so nothing of it
-- outlives the psql session.
--
-- Everything here is invented.  NHS numbers come from the range 999 000
-- 0000 - 999 999 9999, which NHS England reserves for testing and never
-- issues; telephone numbers from Ofcom's ranges for drama (07700 900nnn);
-- e-mail addresses from example.com; postcode areas NX and SX do not exist.

-- The check digit of an NHS number whose first nine digits are base
-- (modulus 11, weights 10 down to 2): 0..9, or 10 when no NHS number has
-- these nine digits.
CREATE FUNCTION pg_temp.nhs_check_digit(base bigint) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT (11 - (
		(base / 100000000 % 10) * 10 + (base / 10000000 % 10) * 9 +
		(base / 1000000 % 10) * 8 + (base / 100000 % 10) * 7 +
		(base / 10000 % 10) * 6 + (base / 1000 % 10) * 5 +
		(base / 100 % 10) * 4 + (base / 10 % 10) * 3 +
		(base % 10) * 2) % 11) % 11
$$;

-- The valid test NHS numbers from the nine-digit base first_base upwards,
-- numbered 1, 2, ... in order, as many as wanted (fewer when the test range
-- runs out).
CREATE FUNCTION pg_temp.nhs_numbers(first_base bigint, wanted bigint)
RETURNS TABLE (ord bigint, nhs_number text)
LANGUAGE sql STABLE STRICT
AS $$
	SELECT row_number() OVER (ORDER BY b), b::text || pg_temp.nhs_check_digit(b)
	FROM generate_series(greatest(first_base, 999000000),
		least(999999999, greatest(first_base, 999000000) + wanted * 11 / 10 + 20)) AS b
	WHERE pg_temp.nhs_check_digit(b) < 10
	ORDER BY b
	LIMIT wanted
$$;

-- The first nine-digit base not yet used by a test-range NHS number in the
-- database, so that a second run never repeats a number.
CREATE FUNCTION pg_temp.nhs_next_base() RETURNS bigint
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(max(left(nhs_number, 9)::bigint) + 1, 999000000)
	FROM service_user WHERE nhs_number LIKE '999%'
$$;

-- One row of arrays; a script picks an entry with
-- v.given[1 + k % cardinality(v.given)] for some number k.  The names the
-- end-to-end tests give their own people (Adaeze, Okafor-...) are left out,
-- so that no demo person is ever a possible duplicate of a test's person.
-- A view rather than a table: the arrays become constants of each query,
-- instead of stored (compressed) values unpacked again for every row.
CREATE TEMPORARY VIEW intake_vocab AS SELECT
	ARRAY['Oliver', 'Amelia', 'Mohammed', 'Olivia', 'Noah', 'Isla', 'Jack',
		'Ava', 'Harry', 'Mia', 'Leo', 'Grace', 'Aisha', 'Fatima', 'Yusuf',
		'Zainab', 'Priya', 'Arjun', 'Ravi', 'Anjali', 'Sanjay', 'Deepa',
		'Gurpreet', 'Harpreet', 'Chinedu', 'Ngozi', 'Kwame', 'Abena',
		'Oluwaseun', 'Chiamaka', 'Tendai', 'Kemi', 'Marcus', 'Jermaine',
		'Shanice', 'Tyrone', 'Keisha', 'Wei', 'Mei', 'Jun', 'Hiroshi',
		'Thanh', 'Minh', 'Agnieszka', 'Piotr', 'Katarzyna', 'Tomasz',
		'Magdalena', 'Andrei', 'Ioana', 'Mihai', 'Giulia', 'Marco', 'Sofia',
		'Mateus', 'Ana', 'Dimitri', 'Elena', 'Seán', 'Niamh', 'Ciarán',
		'Siobhán', 'Aoife', 'Eilidh', 'Callum', 'Fiona', 'Rhys', 'Cerys',
		'Dafydd', 'Megan', 'Bethan', 'Hamza', 'Maryam', 'Omar', 'Layla',
		'Abdi', 'Hodan', 'Faisal', 'Nadia', 'Emre', 'Elif', 'David', 'Sarah',
		'James', 'Margaret', 'Brian', 'Patricia', 'Kenneth', 'Doreen',
		'Stephen', 'Joanne', 'Karen', 'Paul', 'Dawn', 'Lee', 'Kerry',
		'Chloe', 'Jamal', 'Zara', 'Kieran', 'Shannon', 'Darren', 'Precious']
		AS given,
	ARRAY['Smith', 'Jones', 'Williams', 'Taylor', 'Brown', 'Davies', 'Evans',
		'Wilson', 'Thomas', 'Roberts', 'Johnson', 'Lewis', 'Walker',
		'Robinson', 'Wood', 'Thompson', 'White', 'Hughes', 'Edwards', 'Green',
		'Hall', 'Patel', 'Khan', 'Ahmed', 'Ali', 'Hussain', 'Begum', 'Singh',
		'Kaur', 'Sharma', 'Shah', 'Chowdhury', 'Rahman', 'Iqbal', 'Okeke',
		'Adeyemi', 'Mensah', 'Osei', 'Boateng', 'Nwosu', 'Eze', 'Abubakar',
		'Mohamed', 'Warsame', 'Farah', 'Campbell', 'Clarke', 'Francis',
		'Grant', 'Richards', 'Chen', 'Wang', 'Li', 'Zhang', 'Nguyen', 'Tran',
		'Kowalski', 'Nowak', 'Wiśniewska', 'Lewandowski', 'Popescu',
		'Ionescu', 'Rossi', 'Ferreira', 'Silva', 'Santos', 'Murphy',
		'O''Brien', 'Kelly', 'Byrne', 'Gallagher', 'MacDonald', 'Stewart',
		'Fraser', 'Morgan', 'Price', 'Jenkins', 'Yilmaz', 'Demir', 'Cohen',
		'Levy', 'Baptiste', 'Joseph', 'Ogunleye', 'Kapoor', 'Das',
		'Fitzgerald', 'Lloyd', 'Pritchard', 'McLaughlin', 'Duffy',
		'Hassan', 'Ibrahim', 'Mahmood', 'Anderson', 'Scott', 'Bailey',
		'Cooper', 'Ward', 'Turner', 'Ellis-Brown', 'Harrison', 'Mills']
		AS family,
	ARRAY['Riverside Medical Centre', 'Castle Street Surgery',
		'The Willows Health Centre', 'Millbrook Practice',
		'Station Road Surgery', 'Harbourside Family Practice',
		'Valley View Medical Group', 'St Anne''s Surgery',
		'Old Mill Health Centre', 'Parkside Group Practice',
		'Church Lane Surgery', 'Moorgate Medical Centre']
		AS gp,
	ARRAY['Mill Lane', 'High Street', 'Station Road', 'Church Street',
		'Victoria Road', 'Park Avenue', 'Queens Road', 'Chapel Row',
		'Orchard Close', 'Harbour View', 'Canal Street', 'Elm Grove',
		'Windsor Terrace', 'Beech Drive', 'Market Place', 'Kings Walk']
		AS street,
	ARRAY['Polish', 'Urdu', 'Punjabi', 'Bengali', 'Somali', 'Arabic',
		'Romanian', 'Portuguese', 'Cantonese', 'Mandarin', 'Gujarati',
		'Turkish', 'Tigrinya', 'Welsh', 'Kurdish', 'Vietnamese']
		AS language,
	ARRAY['Large print letters, please', 'Prefers telephone contact in the afternoon',
		'Dyslexia: please go through letters by phone',
		'Autistic: agendas in writing before appointments help',
		'Hard of hearing: face the person when speaking',
		'Easy-read information, please', 'No letters to the home address']
		AS needs,
	-- Referral sources; reason[i] and reason[i + 7] are typical reasons,
	-- and source_detail[i] a typical detail, for source[i].
	ARRAY['gp', 'ae_liaison', 'self', 'inpatient_ward', 'police_cjs',
		'social_care', 'other']
		AS source,
	ARRAY[NULL, 'Emergency department liaison team', NULL,
		'Acute admissions ward', 'Liaison and diversion service',
		'Adult social care', 'Housing support service']
		AS source_detail,
	ARRAY['Low mood and withdrawal for three months, not responding to two antidepressants; GP asks for assessment',
		'Attended A&E after an overdose; medically fit, seen by liaison, needs community follow-up',
		'Asking for help with intrusive thoughts and panic that stop them leaving the house',
		'Discharge from the ward after a three-week admission; needs a care coordinator',
		'Seen in custody by liaison and diversion; hearing voices, no current support',
		'Social worker concerned about self-neglect and unpaid rent; possible psychosis',
		'Housing support worker reports paranoid ideas and conflict with neighbours',
		'Post-natal low mood with thoughts of not wanting to be here',
		'Brought to A&E by family after not sleeping for days; believes they are being watched',
		'Hearing a voice that comments on everything they do; wants help before it gets worse',
		'Ready for discharge from the acute ward; follow-up within 72 hours needed',
		'Street triage: detained under section 136, released, needs follow-up',
		'Carer breakdown; person increasingly withdrawn and not eating',
		'Moved into the area with a long history of bipolar disorder; needs transfer of care']
		AS reason,
	ARRAY['NHS Talking Therapies', 'Community wellbeing hub',
		'Drug and alcohol service', 'Citizens Advice debt service',
		'Perinatal mental health team', 'Memory assessment service',
		'Recovery college courses']
		AS signpost,
	ARRAY['Needs can be met in primary care; advice given to the GP',
		'Duplicate of a referral already being assessed',
		'Declined contact after three attempts; GP informed',
		'Out of area: referred on to the home trust']
		AS decline,
	-- Why episodes end, with a typical detail for each.
	ARRAY['discharged_to_gp', 'moved_away', 'declined_contact', 'other', 'died']
		AS end_reason,
	ARRAY['Needs met; discharged to GP care with a relapse plan',
		'Moved out of the area; care handed over',
		'No longer wishes to be seen; crisis numbers given',
		'Support continues through the recovery college instead',
		'Died; coroner informed, team debrief held']
		AS end_detail,
	-- District names for the scale generator's extra districts.
	ARRAY['Fellside', 'Brookvale', 'Ashcombe', 'Kingsmere', 'Oakhurst',
		'Seacliff', 'Marshfield', 'Downland', 'Westbury', 'Thornton',
		'Hollybank', 'Lowmoor', 'Eastgate', 'Cranford', 'Redhill',
		'Stonebridge', 'Willowmead', 'Northcote', 'Southwold', 'Greystone']
		AS place;
